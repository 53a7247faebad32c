//! The `delete_contact` Lambda: see `im_functions::by_name::delete_contact`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_contact()).await
}

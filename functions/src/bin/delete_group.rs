//! The `delete_group` Lambda: see `im_functions::by_name::delete_group`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::delete_group()).await
}

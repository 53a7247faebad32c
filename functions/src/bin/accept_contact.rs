//! The `accept_contact` Lambda: see `im_functions::by_name::accept_contact`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::accept_contact()).await
}
